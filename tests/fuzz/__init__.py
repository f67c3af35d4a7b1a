"""Property-based and fuzz tests (hypothesis) of the two doors strangers can push on: the
OpenRosa submission endpoint and the XLSForm/XForm upload of the REST API."""
