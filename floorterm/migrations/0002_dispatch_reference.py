"""Schema 2: a dispatch's delivery note / shipment reference on the event, and indexes for a terminal's newest entries.

The column is nullable, so existing events need no value. The indexes serve a kiosk's
"your last entries" list on a large ledger: one terminal's events newest first, and one
operator's there (without the second, an operator new to the terminal scans all their events).
"""
from peewee import *

def up(migrator, db):
    migrator.migrate(
        migrator.add_column('event', 'reference', CharField(null=True, max_length=64)),
        migrator.add_index('event', ('terminal', 'id'), False),
        migrator.add_index('event', ('terminal', 'operator_id', 'id'), False),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index('event', 'event_terminal_operator_id_id'),
        migrator.drop_index('event', 'event_terminal_id'),
        migrator.drop_column('event', 'reference'),
    )
