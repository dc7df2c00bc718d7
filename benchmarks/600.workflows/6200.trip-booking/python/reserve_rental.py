"""6200.trip-booking: reserve the rental (a pending row in `car_rentals`)."""

import uuid

from . import trip


def handler(event):
    trip.fail_if_asked(event, "rental")
    out = dict(event)
    out["rental_id"] = uuid.uuid4().hex
    trip.client().insert(
        "car_rentals",
        ("trip_id", out["trip_id"]),
        ("rental_id", out["rental_id"]),
        {
            "rental_company": "Speedy Cars",
            "rental_price": 45,
            "rental_class": event["rental_class"],
            "duration": event["rental_duration"],
            "status": "pending",
        },
    )
    return out
