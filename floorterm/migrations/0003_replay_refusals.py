"""Schema 3: entries refused on replay from a terminal's offline outbox, for the board and supervisors.

Only adds a new table, so it applies the same before or after 0002.
"""
from peewee import *

def up(migrator, db):
    class ReplayRefusal(Model):
        uuid = CharField(unique=True, max_length=36)
        terminal = CharField(max_length=32)
        job = CharField(null=True, max_length=32)
        kind = CharField(max_length=24)
        words = TextField()
        badge = CharField(max_length=24)
        client_time = DateTimeField()
        refused_at = DateTimeField()
        reason = TextField()
        status = CharField(index=True, max_length=16, default='open')
        resolved_by = CharField(null=True, max_length=24)
        resolved_at = DateTimeField(null=True)
        note = TextField(default='')
        class Meta:
            database = db
            table_name = 'replay_refusal'
    db.create_tables([ReplayRefusal])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('replay_refusal'))
