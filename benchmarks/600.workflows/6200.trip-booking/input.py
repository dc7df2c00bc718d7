"""Inputs for 6200.trip-booking: a saga over three NoSQL tables (SeBS-Flow's trip booking).

reserve_hotel → reserve_rental → reserve_flight → confirm; a step that fails routes (its state's
`failure`) to the compensations of what was already reserved, in reverse order:
cancel_flight → cancel_rental → cancel_hotel → abort. The input's `fail_at` injects the failure:
test fails at `confirm` (every reservation is made, then every compensation runs), small books the
trip, large fails at the rental (only the hotel is cancelled).

Validation reads the trip as the last step read it back from the tables: on success three `booked`
rows with the trip's details; on failure the compensations in reverse order and no row left.
"""

TRIP = {
    "flight_depart": "ZRH",
    "flight_arrive": "KTW",
    "flight_date": "2020-08-22T13:00:00",
    "hotel_stars": 3,
    "hotel_nights": 3,
    "rental_class": "compact",
    "rental_duration": 3,
}
FAIL_AT = {"test": "confirm", "small": None, "large": "rental"}
STEPS = ["hotel", "rental", "flight", "confirm"]
TABLES = {"hotel_booking": "booking_id", "car_rentals": "rental_id", "flights": "flight_id"}


def allocate_nosql():
    return {
        table: {"primary_key": "trip_id", "secondary_key": key} for table, key in TABLES.items()
    }


def generate_input(
    data_dir, size, benchmarks_bucket, input_paths, output_paths, upload_func, nosql_func
):
    return dict(TRIP, fail_at=FAIL_AT[size])


def _check_booked(output):
    rows = output.get("reservations", {})
    for table, key in TABLES.items():
        got = rows.get(table)
        if not isinstance(got, list) or len(got) != 1 or got[0].get("status") != "booked":
            return "table %s holds %r for the trip, expected one booked row" % (table, got)
        if got[0].get("trip_id") != output.get("trip_id") or not got[0].get(key):
            return "table %s's row is not the trip's: %r" % (table, got[0])
    hotel, rental, flight = rows["hotel_booking"][0], rows["car_rentals"][0], rows["flights"][0]
    if (hotel.get("nights"), hotel.get("stars")) != (TRIP["hotel_nights"], TRIP["hotel_stars"]):
        return "the hotel row does not hold the trip's nights and stars: %r" % hotel
    if rental.get("rental_class") != TRIP["rental_class"]:
        return "the rental row does not hold the trip's car class: %r" % rental
    if (flight.get("depart"), flight.get("arrive")) != (
        TRIP["flight_depart"],
        TRIP["flight_arrive"],
    ):
        return "the flight row does not hold the trip's route: %r" % flight
    return None


def validate_output(data_dir, input_config, output, language, storage=None):
    fail_at = input_config.get("fail_at")
    if fail_at is None:
        if output.get("status") != "success":
            return "the trip was not booked: %r" % (output,)
        return _check_booked(output)
    if output.get("status") != "failure":
        return "the %s step was made to fail, yet the saga reports %r" % (
            fail_at,
            output.get("status"),
        )
    reserved = STEPS[: STEPS.index(fail_at)]
    expected = [step for step in reversed(reserved) if step != "confirm"]
    if output.get("cancelled") != expected:
        return "compensations %r, expected %r" % (output.get("cancelled"), expected)
    if expected and not output.get("trip_id"):
        return "the failure report has no trip_id"
    left = {t: rows for t, rows in (output.get("reservations") or {}).items() if rows}
    if left:
        return "rows left after the compensations: %r" % left
    if expected and set(output.get("reservations", {})) != set(TABLES):
        return "the failure report did not read back every table: %r" % output.get("reservations")
    return None
