"""6200.trip-booking: what every step shares (tables, failure injection, reading a trip back)."""

from . import nosql

# logical table -> sort key name; every table's partition key is trip_id.
TABLES = {"hotel_booking": "booking_id", "car_rentals": "rental_id", "flights": "flight_id"}


def client():
    return nosql.nosql.get_instance()


def fail_if_asked(event, step):
    """The benchmark's failure injection: the step named by the input's `fail_at` raises."""
    if event.get("fail_at") == step:
        raise RuntimeError("the %s service refused the booking (injected failure)" % step)


def reservations(trip_id):
    """Every row of the trip, per table, sorted by its sort key."""
    db = client()
    return {table: db.query(table, ("trip_id", trip_id), key) for table, key in TABLES.items()}


def cancelled(event, what):
    """The event with `what` added to `cancelled` (the error that started the chain stays)."""
    out = dict(event)
    out["cancelled"] = list(event.get("cancelled", [])) + [what]
    return out
