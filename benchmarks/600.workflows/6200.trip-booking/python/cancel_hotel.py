"""6200.trip-booking compensation: delete the hotel reservation."""

from . import trip


def handler(event):
    trip.client().delete(
        "hotel_booking", ("trip_id", event["trip_id"]), ("booking_id", event["booking_id"])
    )
    out = trip.cancelled(event, "hotel")
    del out["booking_id"]
    return out
