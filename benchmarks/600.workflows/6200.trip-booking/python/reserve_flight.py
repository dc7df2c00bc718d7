"""6200.trip-booking: reserve the flight (a pending row in `flights`)."""

import uuid

from . import trip


def handler(event):
    trip.fail_if_asked(event, "flight")
    out = dict(event)
    out["flight_id"] = uuid.uuid4().hex
    trip.client().insert(
        "flights",
        ("trip_id", out["trip_id"]),
        ("flight_id", out["flight_id"]),
        {
            "airline": "Swiss Air Lines",
            "flight_price": 210,
            "depart": event["flight_depart"],
            "arrive": event["flight_arrive"],
            "date": event["flight_date"],
            "status": "pending",
        },
    )
    return out
