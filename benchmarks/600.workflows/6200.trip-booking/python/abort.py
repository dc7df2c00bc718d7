"""6200.trip-booking, end of the compensation chain: report the failure and what the trip still holds
(nothing, once every compensation ran)."""

from . import trip


def handler(event):
    trip_id = event.get("trip_id")
    return {
        "trip_id": trip_id,
        "status": "failure",
        "cancelled": event.get("cancelled", []),
        "error": event.get("error"),
        "reservations": trip.reservations(trip_id) if trip_id else {},
    }
