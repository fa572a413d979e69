"""Schema 4: who typed an entry in for its operator (`floorterm entries import --by`).

The column is nullable: existing events, and every entry an operator records themself, have
none. No index: only a job's history reads it, and an index would cost every write.
"""
from peewee import *

def up(migrator, db):
    class Operator(Model):
        class Meta:
            database = db
            table_name = 'operator'

    migrator.migrate(migrator.add_column(
        'event', 'recorded_by_id', ForeignKeyField(Operator, field=Operator.id, null=True, index=False)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column('event', 'recorded_by_id'))
