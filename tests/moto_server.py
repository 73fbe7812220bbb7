"""moto's server, single-threaded: moto's in-memory backends are not thread-safe (concurrent
TransactWriteItems fail with "dictionary changed size during iteration"), real AWS has no such
limit, so requests are served one at a time. Usage: moto_server.py HOST PORT

Two changes to moto 5.2.5's DynamoDB, both about cost, not behaviour, so that a long run costs
what it would on DynamoDB (per request, not per table row):

- TransactWriteItems backs up the rows it touches instead of deep-copying the whole table, items
  and stream records, once per action of the transaction (its cost grew with the table: a load
  run slowed from 0.2 s to over 5 s per event within 40 events). On a cancelled transaction the
  touched rows are put back as they were, which is what moto's rollback achieved; the fault and
  concurrency tests exercise that path.
- A Query on the table's own key reads that partition instead of sorting every item of the table
  first (moto's `all_items()`; a 10,000-event run reached ~1 s per event at 30,000 rows). GSI
  queries are unchanged.
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

_all_items = Table.all_items
_query = Table.query


def all_items(self):
    partition = getattr(self, "_partition_only", None)
    if partition is None:
        return _all_items(self)
    rows = self.items.get(partition)
    if rows is None:
        return []
    rows = list(rows.values()) if self.range_key_attr else [rows]
    return sorted(rows, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def query(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward,
          projection_expressions, index_name=None, *args, **kwargs):
    positional = (range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward,
                  projection_expressions, index_name)
    if index_name or hash_key is None:
        return _query(self, hash_key, *positional, *args, **kwargs)
    self._partition_only = hash_key
    try:
        return _query(self, hash_key, *positional, *args, **kwargs)
    finally:
        self._partition_only = None


Table.all_items = all_items
Table.query = query

run_simple(sys.argv[1], int(sys.argv[2]), DomainDispatcherApplication(create_backend_app), threaded=False, use_reloader=False)
