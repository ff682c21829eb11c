"""The chaos suite: a scripted run of the whole product (emulators, database, queue, worker processes) under faults,
ending with the invariants checked and printed as figures. `make chaos` runs it in full; `make test` in short."""
