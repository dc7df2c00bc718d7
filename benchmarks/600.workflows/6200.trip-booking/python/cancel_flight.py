"""6200.trip-booking compensation: delete the flight reservation."""

from . import trip


def handler(event):
    trip.client().delete(
        "flights", ("trip_id", event["trip_id"]), ("flight_id", event["flight_id"])
    )
    out = trip.cancelled(event, "flight")
    del out["flight_id"]
    return out
