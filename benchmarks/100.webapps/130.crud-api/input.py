"""Inputs for 130.crud-api: a fresh cart seeded with four products.

test: one GET of a product; small: one GET of the cart; large: five times (PUT a new product into
a second cart, GET that cart).
"""
import math
import uuid

SEEDED = [
    ("p-1001", "Notebook", 4.5, 3),
    ("p-1002", "Pen", 1.25, 10),
    ("p-1003", "Backpack", 39.99, 1),
    ("p-1004", "Mug", 8.0, 2),
]
ADDED = [
    ("p-2001", "Lamp", 24.5, 1),
    ("p-2002", "Cable", 6.75, 4),
    ("p-2003", "Stapler", 12.0, 2),
    ("p-2004", "Folder", 2.2, 12),
    ("p-2005", "Chair", 89.9, 1),
]


def buckets_count():
    return (0, 0)


def allocate_nosql():
    return {"shopping_cart": {"primary_key": "cart_id", "secondary_key": "product_id"}}


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    cart = "cart-" + str(uuid.uuid4())
    for product_id, name, price, quantity in SEEDED:
        nosql_func(
            "130.crud-api",
            "shopping_cart",
            {"name": name, "price": price, "quantity": quantity},
            ("cart_id", cart),
            ("product_id", product_id),
        )
    if size == "test":
        requests = [{"route": "GET /cart/{id}", "path": {"id": SEEDED[0][0]}, "body": {"cart": cart}}]
    elif size == "small":
        requests = [{"route": "GET /cart", "body": {"cart": cart}}]
    else:
        second = "cart-" + str(uuid.uuid4())
        requests = []
        for product_id, name, price, quantity in ADDED:
            requests.append(
                {
                    "route": "PUT /cart",
                    "body": {"cart": second, "product_id": product_id, "name": name,
                             "price": price, "quantity": quantity},
                }
            )
            requests.append({"route": "GET /cart", "body": {"cart": second}})
    return {"requests": requests}


def _cart(products):
    products = sorted(products)
    total = sum(price * quantity for _, _, price, quantity in products)
    units = sum(quantity for *_, quantity in products)
    return [name for _, name, _, _ in products], total, total / units


def _check_cart(got, products, exact):
    names, total, avg = _cart(products)
    if exact and got.get("products") != names:
        return "cart products %r, expected %r" % (got.get("products"), names)
    if not exact and not set(names) <= set(got.get("products", [])):
        return "cart products %r lack some of %r" % (got.get("products"), names)
    if exact and not (math.isclose(got.get("total_cost", -1), total, rel_tol=1e-9)
                      and math.isclose(got.get("avg_price", -1), avg, rel_tol=1e-9)):
        return "cart total %r / average %r, expected %r / %r" % (
            got.get("total_cost"), got.get("avg_price"), total, avg)
    return None


def validate_output(data_dir, input_config, output, language, storage=None):
    results = output["result"]
    requests = input_config["requests"]
    if len(results) != len(requests):
        return "%d results for %d requests" % (len(results), len(requests))
    seeded = {p[0]: p for p in SEEDED}
    added = []
    for i, (request, got) in enumerate(zip(requests, results)):
        route = request["route"]
        cart = request["body"]["cart"]
        if route == "GET /cart/{id}":
            product_id, name, price, quantity = seeded[request["path"]["id"]]
            want = {"cart_id": cart, "product_id": product_id, "name": name,
                    "price": price, "quantity": quantity}
            if got != want:
                return "request %d: got %r, expected %r" % (i, got, want)
        elif route == "PUT /cart":
            body = request["body"]
            added.append((body["product_id"], body["name"], body["price"], body["quantity"]))
        elif route == "GET /cart":
            products = added if added else SEEDED
            # Earlier invocations with the same input may have added later products already, so
            # only the last GET (after every PUT) must match exactly.
            error = _check_cart(got, products, exact=(i == len(requests) - 1))
            if error:
                return "request %d: %s" % (i, error)
    return None
