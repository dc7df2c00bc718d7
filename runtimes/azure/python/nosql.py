"""SeBS NoSQL API for Python functions on Azure: Cosmos DB (NoSQL API) over its REST API with
master-key authorization, standard library only.

Configured by environment variables (sebs sets them on the function app):
  NOSQL_STORAGE_ENDPOINT (the account's documentEndpoint), NOSQL_STORAGE_KEY (its primary key),
  NOSQL_STORAGE_DATABASE (the database, SeBS: ``benchmarks``);
  NOSQL_STORAGE_TABLE_<logical name>: the container of each table the benchmark allocated.

A table is a container partitioned by its primary key; an item's ``id`` is its secondary key, as
SeBS maps tables onto Cosmos DB.

    from . import nosql
    table = nosql.nosql.get_instance()
    table.insert("shopping_cart", ("cart_id", cart), ("product_id", product), {"price": 10})
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time
from email.utils import formatdate
from urllib.parse import quote, urlsplit

_VERSION = "2018-12-31"


class NoSQLError(Exception):
    """A Cosmos DB request failed; `status` is the HTTP status, `code` Cosmos DB's code."""

    def __init__(self, status, code, message):
        super().__init__("Cosmos DB error %s %s: %s" % (status, code, message))
        self.status = status
        self.code = code


def authorization(key, verb, resource_type, resource_link, date):
    """The master-key `Authorization` header value of one request."""
    text = "%s\n%s\n%s\n%s\n\n" % (verb.lower(), resource_type.lower(), resource_link, date.lower())
    digest = hmac.new(base64.b64decode(key), text.encode("utf-8"), hashlib.sha256).digest()
    return quote("type=master&ver=1.0&sig=" + base64.b64encode(digest).decode(), safe="")


def _plain(doc):
    return {k: v for k, v in doc.items() if not k.startswith("_") and k != "id"}


class nosql:
    """The SeBS NoSQL interface (`nosql.get_instance()`)."""

    instance = None

    def __init__(self):
        endpoint = os.environ.get("NOSQL_STORAGE_ENDPOINT")
        self.key = os.environ.get("NOSQL_STORAGE_KEY")
        if not endpoint or not self.key:
            raise RuntimeError("NOSQL_STORAGE_ENDPOINT and NOSQL_STORAGE_KEY are not set: sebs sets them on the function app")
        url = urlsplit(endpoint if "://" in endpoint else "http://" + endpoint)
        self.scheme, self.host = url.scheme, url.netloc
        self.database = os.environ.get("NOSQL_STORAGE_DATABASE", "benchmarks")
        self._conn = None

    @staticmethod
    def get_instance():
        if nosql.instance is None:
            nosql.instance = nosql()
        return nosql.instance

    @staticmethod
    def _table(table_name):
        physical = os.environ.get("NOSQL_STORAGE_TABLE_" + table_name)
        if not physical:
            raise KeyError("no container for table %r: NOSQL_STORAGE_TABLE_%s is not set" % (table_name, table_name))
        return physical

    def _request(self, verb, path, resource_type, link, body=None, headers=None, ok_missing=False):
        """One REST call; `path` is the URL path, `link` the resource link signed."""
        import http.client

        date = formatdate(usegmt=True)
        headers = dict(headers or {})
        headers.update({
            "x-ms-date": date,
            "x-ms-version": _VERSION,
            "Authorization": authorization(self.key, verb, resource_type, link, date),
            "Accept": "application/json",
        })
        data = None if body is None else json.dumps(body).encode("utf-8")
        if data is not None:
            headers.setdefault("Content-Type", "application/json")
        start, t0 = time.time(), time.perf_counter()
        for attempt in (0, 1):
            try:
                if self._conn is None:
                    cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
                    self._conn = cls(self.host, timeout=60)
                self._conn.request(verb, path, body=data, headers=headers)
                response = self._conn.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, OSError):
                self._conn = None
                if attempt:
                    raise
        reply = json.loads(raw) if raw else {}
        if response.status == 404 and ok_missing:
            return None
        if response.status >= 300:
            raise NoSQLError(response.status, reply.get("code", ""), reply.get("message", raw[:300]))
        profiler = sys.modules.get("faas_profiler_python")
        if profiler is not None and profiler.active is not None:
            profiler.capture("nosql", verb + " " + resource_type, start, time.perf_counter() - t0,
                             table=link, request_bytes=len(data or b""), response_bytes=len(raw))
        return reply

    def _coll(self, container):
        return "dbs/%s/colls/%s" % (self.database, container)

    @staticmethod
    def _pk(value):
        return {"x-ms-documentdb-partitionkey": json.dumps([value])}

    # -- SeBS API ------------------------------------------------------------------------------

    def insert(self, table_name, primary_key, secondary_key, data):
        doc = dict(data)
        doc[primary_key[0]] = primary_key[1]
        doc[secondary_key[0]] = secondary_key[1]
        doc["id"] = str(secondary_key[1])
        self.put_physical_item(self._table(table_name), primary_key[1], doc)

    def put_physical_item(self, container, partition, doc):
        coll = self._coll(container)
        headers = self._pk(partition)
        headers["x-ms-documentdb-is-upsert"] = "True"
        self._request("POST", "/" + coll + "/docs", "docs", coll, doc, headers)

    def get(self, table_name, primary_key, secondary_key):
        link = self._coll(self._table(table_name)) + "/docs/" + str(secondary_key[1])
        doc = self._request("GET", "/" + link, "docs", link, headers=self._pk(primary_key[1]), ok_missing=True)
        return None if doc is None else _plain(doc)

    def update(self, table_name, primary_key, secondary_key, updates):
        link = self._coll(self._table(table_name)) + "/docs/" + str(secondary_key[1])
        doc = self._request("GET", "/" + link, "docs", link, headers=self._pk(primary_key[1]))
        doc.update(updates)
        self._request("PUT", "/" + link, "docs", link, doc, self._pk(primary_key[1]))

    def query(self, table_name, primary_key, secondary_key_name):
        """Every item whose partition key is `primary_key`, sorted by `secondary_key_name`."""
        coll = self._coll(self._table(table_name))
        body = {
            "query": "SELECT * FROM c WHERE c[@k] = @v",
            "parameters": [{"name": "@k", "value": primary_key[0]}, {"name": "@v", "value": primary_key[1]}],
        }
        headers = self._pk(primary_key[1])
        headers.update({"Content-Type": "application/query+json", "x-ms-documentdb-isquery": "True"})
        items = [_plain(d) for d in self._request("POST", "/" + coll + "/docs", "docs", coll, body, headers)["Documents"]]
        items.sort(key=lambda i: i.get(secondary_key_name))
        return items

    def delete(self, table_name, primary_key, secondary_key):
        link = self._coll(self._table(table_name)) + "/docs/" + str(secondary_key[1])
        self._request("DELETE", "/" + link, "docs", link, headers=self._pk(primary_key[1]), ok_missing=True)

    # -- Used by the sebs harness --------------------------------------------------------------

    def create_table(self, physical_name, primary_key, secondary_key=None):
        """Create the database and a container partitioned by `primary_key` unless they exist."""
        try:
            self._request("POST", "/dbs", "dbs", "", {"id": self.database})
        except NoSQLError as e:
            if e.status != 409:
                raise
        db = "dbs/" + self.database
        body = {"id": physical_name, "partitionKey": {"paths": ["/" + primary_key], "kind": "Hash"}}
        try:
            self._request("POST", "/" + db + "/colls", "colls", db, body)
        except NoSQLError as e:
            if e.status != 409:
                raise
        self._keys = getattr(self, "_keys", {})
        self._keys[physical_name] = (primary_key, secondary_key)

    def put_physical(self, physical_name, item):
        """Write an item into a container by its name (keys as create_table named them)."""
        primary, secondary = getattr(self, "_keys", {}).get(physical_name, (None, None))
        if primary is None:
            raise KeyError("container %s was not created by this client: call create_table first" % physical_name)
        doc = dict(item)
        doc["id"] = str(item[secondary]) if secondary else str(item[primary])
        self.put_physical_item(physical_name, item[primary], doc)


def get_instance():
    """Module-level shortcut for `nosql.get_instance()`."""
    return nosql.get_instance()
