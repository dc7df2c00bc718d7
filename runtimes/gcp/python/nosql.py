"""SeBS NoSQL API for Python functions on Firestore in Datastore mode (REST, standard library).

SeBS's layout: one database per benchmark (``NOSQL_STORAGE_DATABASE``, empty for the default),
one kind per table; an item's key is ``(primary key name, value) / (table, secondary value)``, so
``query`` is an ancestor query. Configured by ``GOOGLE_CLOUD_PROJECT`` and
``DATASTORE_EMULATOR_HOST`` (an emulator, no credentials) or, on Google Cloud, the function's
service account through the metadata server.
"""
import os
import urllib.parse

try:
    from . import _gauth
except ImportError:  # imported as a top-level module
    import _gauth


def _to_value(v):
    if v is None:
        return {"nullValue": None}
    if isinstance(v, bool):
        return {"booleanValue": v}
    if isinstance(v, int):
        return {"integerValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, (bytes, bytearray)):
        import base64

        return {"blobValue": base64.b64encode(bytes(v)).decode()}
    if isinstance(v, (list, tuple)):
        return {"arrayValue": {"values": [_to_value(x) for x in v]}}
    if isinstance(v, dict):
        return {"entityValue": {"properties": {k: _to_value(x) for k, x in v.items()}},
                "excludeFromIndexes": True}
    return {"stringValue": str(v)}


def _from_value(v):
    if "integerValue" in v:
        return int(v["integerValue"])
    if "arrayValue" in v:
        return [_from_value(x) for x in v["arrayValue"].get("values", [])]
    if "entityValue" in v:
        return {k: _from_value(x) for k, x in v["entityValue"].get("properties", {}).items()}
    if "blobValue" in v:
        import base64

        return base64.b64decode(v["blobValue"])
    for kind in ("stringValue", "doubleValue", "booleanValue"):
        if kind in v:
            return v[kind]
    return None


class nosql:
    instance = None

    def __init__(self):
        host = os.environ.get("DATASTORE_EMULATOR_HOST")
        self.conn = _gauth.Connection(*_gauth.endpoint(host, "datastore.googleapis.com"))
        self.project = os.environ.get("GOOGLE_CLOUD_PROJECT") or os.environ.get("GCP_PROJECT", "")
        self.database = os.environ.get("NOSQL_STORAGE_DATABASE", "")

    @staticmethod
    def get_instance():
        if nosql.instance is None:
            nosql.instance = nosql()
        return nosql.instance

    def _call(self, method, body):
        body["databaseId"] = self.database
        path = "/v1/projects/%s:%s" % (urllib.parse.quote(self.project, safe=""), method)
        return self.conn.json("POST", path, body)

    def _partition(self):
        return {"projectId": self.project, "databaseId": self.database}

    def _parent(self, primary_key):
        return {"kind": primary_key[0], "name": str(primary_key[1])}

    @staticmethod
    def _kind(table_name):
        # sebs's input driver names each allocated table's kind in NOSQL_STORAGE_TABLE_<name>;
        # without it the name is the kind, as in SeBS.
        return os.environ.get("NOSQL_STORAGE_TABLE_" + table_name) or table_name

    def _key(self, table_name, primary_key, secondary_key):
        kind = self._kind(table_name)
        path = [self._parent(primary_key), {"kind": kind, "name": str(secondary_key[1])}]
        return {"partitionId": self._partition(), "path": path}

    def _commit(self, mutation):
        self._call("commit", {"mode": "NON_TRANSACTIONAL", "mutations": [mutation]})

    def insert(self, table_name, primary_key, secondary_key, data):
        item = dict(data)
        item[primary_key[0]] = primary_key[1]
        item[secondary_key[0]] = secondary_key[1]
        properties = {k: _to_value(v) for k, v in item.items()}
        key = self._key(table_name, primary_key, secondary_key)
        self._commit({"upsert": {"key": key, "properties": properties}})

    def get(self, table_name, primary_key, secondary_key):
        reply = self._call("lookup", {"keys": [self._key(table_name, primary_key, secondary_key)]})
        found = reply.get("found") or []
        if not found:
            return None
        return {k: _from_value(v) for k, v in found[0]["entity"].get("properties", {}).items()}

    def update(self, table_name, primary_key, secondary_key, updates):
        item = self.get(table_name, primary_key, secondary_key) or {}
        item.update(updates)
        self.insert(table_name, primary_key, secondary_key, item)

    def query(self, table_name, primary_key, secondary_key_name):
        ancestor = {"partitionId": self._partition(), "path": [self._parent(primary_key)]}
        query = {
            "kind": [{"name": self._kind(table_name)}],
            "filter": {"propertyFilter": {"property": {"name": "__key__"}, "op": "HAS_ANCESTOR",
                                          "value": {"keyValue": ancestor}}},
        }
        items = []
        while True:
            reply = self._call("runQuery", {"partitionId": self._partition(), "query": query})
            batch = reply.get("batch", {})
            for result in batch.get("entityResults", []):
                props = result["entity"].get("properties", {})
                items.append({k: _from_value(v) for k, v in props.items()})
            if batch.get("moreResults") != "NOT_FINISHED" or not batch.get("endCursor"):
                break
            query["startCursor"] = batch["endCursor"]
        items.sort(key=lambda i: i.get(secondary_key_name))
        return items

    def delete(self, table_name, primary_key, secondary_key):
        self._commit({"delete": self._key(table_name, primary_key, secondary_key)})

    # The input driver's side (sebs's host-side NoSQL API): kinds need no creation, so
    # create_table only remembers the keys put_physical needs.
    def create_table(self, physical_name, primary_key, secondary_key=None):
        self._keys = getattr(self, "_keys", {})
        self._keys[physical_name] = (primary_key, secondary_key)

    def put_physical(self, physical_name, item):
        primary, secondary = getattr(self, "_keys", {}).get(physical_name, (None, None))
        if primary is None:
            raise KeyError("table %s was not created by this client: call create_table first" % physical_name)
        second = (secondary, item[secondary]) if secondary else (primary, item[primary])
        self.insert(physical_name, (primary, item[primary]), second, item)


def get_instance():
    return nosql.get_instance()
