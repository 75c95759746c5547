"""The receiving side: the SOAP service of the gateway's channels and the HTTP server that runs it."""
