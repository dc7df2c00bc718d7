"""130.crud-api: a shopping cart over a NoSQL table (pk cart_id, sk product_id).

Routes: `PUT /cart` adds a product, `GET /cart/{id}` returns one product, `GET /cart` returns the
cart's products with total cost (sum of price x quantity) and average price per unit.
"""
import datetime

from . import nosql

nosql_client = nosql.nosql.get_instance()
TABLE = "shopping_cart"


def add_product(cart_id, product_id, product_name, price, quantity):
    nosql_client.insert(
        TABLE,
        ("cart_id", cart_id),
        ("product_id", product_id),
        {"price": price, "quantity": quantity, "name": product_name},
    )


def get_product(cart_id, product_id):
    return nosql_client.get(TABLE, ("cart_id", cart_id), ("product_id", product_id))


def query_products(cart_id):
    items = nosql_client.query(TABLE, ("cart_id", cart_id), "product_id")
    total_cost = sum(i["price"] * i["quantity"] for i in items)
    quantity = sum(i["quantity"] for i in items)
    return {
        "products": [i["name"] for i in items],
        "total_cost": total_cost,
        "avg_price": total_cost / quantity if quantity > 0 else 0.0,
    }


def handler(event):
    results = []
    begin = datetime.datetime.now()
    for request in event["requests"]:
        route = request["route"]
        body = request.get("body", {})
        if route == "PUT /cart":
            add_product(body["cart"], body["product_id"], body["name"], body["price"], body["quantity"])
            results.append({})
        elif route == "GET /cart/{id}":
            results.append(get_product(body["cart"], request["path"]["id"]))
        elif route == "GET /cart":
            results.append(query_products(body["cart"]))
        else:
            raise ValueError("unknown route %r" % route)
    end = datetime.datetime.now()
    return {
        "result": results,
        "measurement": {"compute_time": (end - begin) / datetime.timedelta(microseconds=1)},
    }
