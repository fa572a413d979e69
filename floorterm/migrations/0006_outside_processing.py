"""Schema 6: outside processing (issue 10, item 5).

StepBalance gains what an outside step (galvanising, plating) has at its suppliers: units
sent in all, the oldest batch still out (supplier code, since when) and how many suppliers
have units. No store before
schema 6 could send anything out, so the defaults (0, none) are every existing row's value.
A send's supplier is kept in Event.item and its delivery note in Event.reference: no new
Event column.
"""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('step_balance', 'sent', IntegerField(default=0)),
        migrator.add_column('step_balance', 'out_supplier', CharField(null=True, max_length=32)),
        migrator.add_column('step_balance', 'out_since', DateTimeField(null=True)),
        migrator.add_column('step_balance', 'out_suppliers', IntegerField(default=0)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('step_balance', 'out_suppliers'),
        migrator.drop_column('step_balance', 'out_since'),
        migrator.drop_column('step_balance', 'out_supplier'),
        migrator.drop_column('step_balance', 'sent'),
    )
