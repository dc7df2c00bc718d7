"""6200.trip-booking: reserve the hotel (a pending row in `hotel_booking`)."""

import uuid

from . import trip


def handler(event):
    trip.fail_if_asked(event, "hotel")
    out = dict(event)
    out["trip_id"] = uuid.uuid4().hex
    out["booking_id"] = uuid.uuid4().hex
    trip.client().insert(
        "hotel_booking",
        ("trip_id", out["trip_id"]),
        ("booking_id", out["booking_id"]),
        {
            "hotel_name": "BestEver Hotel",
            "hotel_price": 130,
            "nights": event["hotel_nights"],
            "stars": event["hotel_stars"],
            "status": "pending",
        },
    )
    return out
