"""The FHIR R4 read API under /fhir/R4/ (issue 17): views, URLs, search parameters and Bundles."""
