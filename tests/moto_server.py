"""moto's server, single-threaded: moto's in-memory backends are not thread-safe (concurrent
TransactWriteItems fail with "dictionary changed size during iteration"), real AWS has no such
limit, so requests are served one at a time. Usage: moto_server.py HOST PORT

One change to moto's DynamoDB: TransactWriteItems backs up the rows it touches instead of
deep-copying the whole table once per action (moto 5.2.5 copies every table, its items and its
stream records, for each action of a transaction: a transaction's cost grew with the table, and a
long load run slowed to seconds per event after a few dozen events). On a cancelled transaction
the touched rows are put back as they were, which is what moto's rollback achieved; the fault and
concurrency tests exercise that path.
"""
import copy
import sys

import moto.dynamodb.models as ddb
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


class _CopyWithoutTables:
    """`copy` as moto's DynamoDB backend sees it: tables are not deep-copied."""

    def deepcopy(self, obj, memo=None):
        return obj if isinstance(obj, Table) else copy.deepcopy(obj, memo)

    def __getattr__(self, name):
        return getattr(copy, name)


ddb.copy = _CopyWithoutTables()
_original = ddb.DynamoDBBackend.transact_write_items


def _key(backend, op_type, op):
    table = backend.tables.get(op.get("TableName"))
    if table is None:
        return None
    if op_type != "Put":
        return op.get("Key")
    attrs = op.get("Item", {})
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    if any(n not in attrs for n in names):
        return None
    return {n: attrs[n] for n in names}


def transact_write_items(self, transact_items):
    backups = []
    for item in transact_items:
        if len(item) != 1:
            continue  # moto itself rejects it
        op_type, op = next(iter(item.items()))
        key = _key(self, op_type, op)
        if key is None:
            continue
        try:
            current = self.get_item(op["TableName"], key)
        except Exception:  # noqa: BLE001 - an invalid key: moto's own call reports it
            continue
        backups.append((op["TableName"], key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
    try:
        return _original(self, transact_items)
    except Exception:
        for table_name, key, attrs in reversed(backups):
            if attrs is None:
                if self.get_item(table_name, key) is not None:
                    self.delete_item(table_name, key)
            else:
                self.put_item(table_name, attrs)
        raise


ddb.DynamoDBBackend.transact_write_items = transact_write_items

run_simple(sys.argv[1], int(sys.argv[2]), DomainDispatcherApplication(create_backend_app), threaded=False, use_reloader=False)
