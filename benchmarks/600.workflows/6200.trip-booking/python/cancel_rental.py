"""6200.trip-booking compensation: delete the rental reservation."""

from . import trip


def handler(event):
    trip.client().delete(
        "car_rentals", ("trip_id", event["trip_id"]), ("rental_id", event["rental_id"])
    )
    out = trip.cancelled(event, "rental")
    del out["rental_id"]
    return out
