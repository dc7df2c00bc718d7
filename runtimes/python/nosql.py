"""SeBS NoSQL API for Python functions, over the DynamoDB JSON API with the standard library only.

Configured by environment variables:
  NOSQL_STORAGE_ENDPOINT (host:port for plain HTTP, or a URL), NOSQL_STORAGE_ACCESS_KEY,
  NOSQL_STORAGE_SECRET_KEY, NOSQL_STORAGE_REGION: sebs's embedded store, ScyllaDB Alternator or any
  DynamoDB-API endpoint; otherwise AWS DynamoDB with the AWS_* variables (as on AWS Lambda).
  NOSQL_STORAGE_TABLE_<logical name>: the physical name of each table the benchmark allocated.

    from . import nosql
    table = nosql.nosql.get_instance()
    table.insert("shopping_cart", ("cart_id", cart), ("product_id", product), {"price": 10})
"""
import base64
import json
import os
import sys
import time

try:
    from . import _sigv4
except ImportError:  # imported as a top-level module (the sebs input driver)
    import _sigv4


class NoSQLError(Exception):
    """A DynamoDB API request failed; `code` is the exception name (e.g. ResourceNotFoundException)."""

    def __init__(self, status, code, message):
        super().__init__("DynamoDB API error %s %s: %s" % (status, code, message))
        self.status = status
        self.code = code


def _to_attr(value):
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, (int, float)):
        return {"N": repr(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (bytes, bytearray)):
        return {"B": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {"M": {k: _to_attr(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [_to_attr(v) for v in value]}
    raise TypeError("cannot store a %s in a NoSQL item" % type(value).__name__)


def _from_attr(attr):
    ((kind, value),) = attr.items()
    if kind == "N":
        # Like SeBS's DynamoDB wrapper: Decimal -> int or float.
        return int(value) if value.lstrip("-").isdigit() else float(value)
    if kind in ("S", "BOOL"):
        return value
    if kind == "NULL":
        return None
    if kind == "B":
        return base64.b64decode(value)
    if kind == "M":
        return {k: _from_attr(v) for k, v in value.items()}
    if kind == "L":
        return [_from_attr(v) for v in value]
    if kind == "SS":
        return set(value)
    if kind == "NS":
        return {int(v) if v.lstrip("-").isdigit() else float(v) for v in value}
    raise TypeError("unsupported DynamoDB attribute type %s" % kind)


def _item(data):
    return {k: _to_attr(v) for k, v in data.items()}


def _plain(item):
    return {k: _from_attr(v) for k, v in item.items()}


class nosql:
    """The SeBS NoSQL interface (`nosql.get_instance()`)."""

    instance = None

    def __init__(self):
        env = os.environ
        if env.get("NOSQL_STORAGE_ENDPOINT"):
            self.creds = _sigv4.Credentials(
                env.get("NOSQL_STORAGE_ACCESS_KEY") or "sebs",
                env.get("NOSQL_STORAGE_SECRET_KEY") or "sebs",
                env.get("NOSQL_STORAGE_REGION"),
            )
            address = env["NOSQL_STORAGE_ENDPOINT"]
        else:
            self.creds, address = _sigv4.aws_from_environment("dynamodb")
        self.scheme, self.host = _sigv4.split_address(address, "127.0.0.1:9012")
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
            raise KeyError(
                "no physical name for table %r: NOSQL_STORAGE_TABLE_%s is not set"
                % (table_name, table_name)
            )
        return physical

    def call(self, operation, request):
        """One DynamoDB API call (`operation` like "PutItem"); returns the decoded JSON reply."""
        body = json.dumps(request).encode("utf-8")
        start, t0 = time.time(), time.perf_counter()
        for attempt in (0, 1):
            headers = {
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": "DynamoDB_20120810." + operation,
            }
            payload_hash = _sigv4.hashlib.sha256(body).hexdigest()
            _sigv4.sign_headers(self.creds, "dynamodb", "POST", self.host, "/", [], headers, payload_hash)
            import http.client  # imported on first use: keeps `import nosql` cheap

            try:
                if self._conn is None:
                    self._conn = _sigv4.connect(self.scheme, self.host)
                self._conn.request("POST", "/", body=body, headers=headers)
                response = self._conn.getresponse()
                data = response.read()
            except (http.client.HTTPException, ConnectionError, OSError):
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                if attempt:
                    raise
                continue
            reply = json.loads(data) if data else {}
            if response.status >= 300:
                code = str(reply.get("__type", "")).rsplit("#", 1)[-1]
                raise NoSQLError(response.status, code, reply.get("message") or reply.get("Message"))
            profiler = sys.modules.get("faas_profiler_python")
            if profiler is not None and profiler.active is not None:
                profiler.capture(
                    "nosql", operation, start, time.perf_counter() - t0,
                    table=request.get("TableName"), key=request.get("Key"),
                    request_bytes=len(body), response_bytes=len(data),
                )
            return reply

    # -- SeBS API ------------------------------------------------------------------------------

    def insert(self, table_name, primary_key, secondary_key, data):
        item = dict(data)
        for name, value in (primary_key, secondary_key):
            item[name] = value
        self.call("PutItem", {"TableName": self._table(table_name), "Item": _item(item)})

    def get(self, table_name, primary_key, secondary_key):
        reply = self.call(
            "GetItem",
            {
                "TableName": self._table(table_name),
                "Key": _item(dict([primary_key, secondary_key])),
            },
        )
        return _plain(reply["Item"]) if "Item" in reply else None

    def update(self, table_name, primary_key, secondary_key, updates):
        names, values, sets = {}, {}, []
        for i, (name, value) in enumerate(updates.items()):
            names["#k%d" % i] = name
            values[":v%d" % i] = _to_attr(value)
            sets.append("#k%d = :v%d" % (i, i))
        self.call(
            "UpdateItem",
            {
                "TableName": self._table(table_name),
                "Key": _item(dict([primary_key, secondary_key])),
                "UpdateExpression": "SET " + ", ".join(sets),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            },
        )

    def query(self, table_name, primary_key, secondary_key_name):
        """Every item whose partition key is `primary_key`, sorted by `secondary_key_name`."""
        request = {
            "TableName": self._table(table_name),
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": primary_key[0]},
            "ExpressionAttributeValues": {":pk": _to_attr(primary_key[1])},
        }
        items = []
        while True:
            reply = self.call("Query", request)
            items.extend(_plain(i) for i in reply.get("Items", []))
            if not reply.get("LastEvaluatedKey"):
                break
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
        items.sort(key=lambda i: i.get(secondary_key_name))
        return items

    def delete(self, table_name, primary_key, secondary_key):
        self.call(
            "DeleteItem",
            {
                "TableName": self._table(table_name),
                "Key": _item(dict([primary_key, secondary_key])),
            },
        )

    # -- Used by the sebs harness --------------------------------------------------------------

    def create_table(self, physical_name, primary_key, secondary_key=None):
        """Create a table with string keys (on-demand billing) unless it exists; wait for ACTIVE."""
        schema = [{"AttributeName": primary_key, "KeyType": "HASH"}]
        attributes = [{"AttributeName": primary_key, "AttributeType": "S"}]
        if secondary_key:
            schema.append({"AttributeName": secondary_key, "KeyType": "RANGE"})
            attributes.append({"AttributeName": secondary_key, "AttributeType": "S"})
        try:
            self.call(
                "CreateTable",
                {
                    "TableName": physical_name,
                    "KeySchema": schema,
                    "AttributeDefinitions": attributes,
                    "BillingMode": "PAY_PER_REQUEST",
                },
            )
        except NoSQLError as e:
            # Another process creating the same table at the same moment may make a backend
            # fail with something other than ResourceInUseException (the embedded store reports
            # its storage's uniqueness violation as a 500); the table existing is what counts.
            if e.code != "ResourceInUseException" and not self._table_exists(physical_name):
                raise
        import time

        for _ in range(120):
            status = self.call("DescribeTable", {"TableName": physical_name})["Table"]
            if status.get("TableStatus", "ACTIVE") == "ACTIVE":
                return
            time.sleep(0.5)
        raise NoSQLError(0, "Timeout", "table %s did not become ACTIVE in 60 s" % physical_name)

    def _table_exists(self, physical_name):
        try:
            self.call("DescribeTable", {"TableName": physical_name})
            return True
        except NoSQLError:
            return False

    def put_physical(self, physical_name, item):
        """PutItem into a table by its physical name."""
        self.call("PutItem", {"TableName": physical_name, "Item": _item(item)})


def get_instance():
    """Module-level shortcut for `nosql.get_instance()`."""
    return nosql.get_instance()
