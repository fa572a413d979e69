"""Schema 5: how far each receiver of `floorterm export confirmations` got in the ledger.

Only adds a new table, so it applies the same before or after 0002-0004.
"""
from peewee import *

def up(migrator, db):
    class ExportConsumer(Model):
        name = CharField(unique=True, max_length=32)
        last_event_id = BigIntegerField(default=0)
        holes = TextField(default='[]')
        revision = IntegerField(default=0)
        exported_rows = BigIntegerField(default=0)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'export_consumer'
    db.create_tables([ExportConsumer])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('export_consumer'))
