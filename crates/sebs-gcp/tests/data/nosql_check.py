"""The SeBS NoSQL API of runtimes/gcp/python/nosql.py against a Datastore-mode emulator (argv[1]: the
shim directory; DATASTORE_EMULATOR_HOST and GOOGLE_CLOUD_PROJECT set by the test)."""
import os, sys
sys.path.insert(0, sys.argv[1])
import nosql, storage
db = nosql.nosql.get_instance()
db.insert("shopping_cart", ("cart_id", "c1"), ("product_id", "p2"), {"price": 3.5, "quantity": 2, "name": "pear"})
db.insert("shopping_cart", ("cart_id", "c1"), ("product_id", "p1"), {"price": 1.25, "quantity": 1, "name": "apple", "tags": ["a", "b"]})
db.insert("shopping_cart", ("cart_id", "c2"), ("product_id", "p1"), {"price": 9.0, "quantity": 1})
got = db.get("shopping_cart", ("cart_id", "c1"), ("product_id", "p1"))
assert got == {"price": 1.25, "quantity": 1, "name": "apple", "tags": ["a", "b"], "cart_id": "c1", "product_id": "p1"}, got
db.update("shopping_cart", ("cart_id", "c1"), ("product_id", "p1"), {"quantity": 5})
assert db.get("shopping_cart", ("cart_id", "c1"), ("product_id", "p1"))["quantity"] == 5
items = db.query("shopping_cart", ("cart_id", "c1"), "product_id")
assert [i["product_id"] for i in items] == ["p1", "p2"], items
db.delete("shopping_cart", ("cart_id", "c1"), ("product_id", "p2"))
assert db.get("shopping_cart", ("cart_id", "c1"), ("product_id", "p2")) is None
assert len(db.query("shopping_cart", ("cart_id", "c1"), "product_id")) == 1
# The input driver's side: a table allocated under its physical name, written with
# put_physical, read by a function through its logical name (NOSQL_STORAGE_TABLE_<name>).
physical = "sebs-benchmarks-abc-130.crud-api-orders"
db.create_table(physical, "order_id", "line")
db.put_physical(physical, {"order_id": "o1", "line": "l1", "amount": 7})
os.environ["NOSQL_STORAGE_TABLE_orders"] = physical
assert db.get("orders", ("order_id", "o1"), ("line", "l1"))["amount"] == 7
try:
    db.put_physical("never-created", {"order_id": "o2"})
    raise AssertionError("put_physical without create_table must fail")
except KeyError:
    pass
print("nosql ok")
