"""FHIR Bulk Data Access server (IG v2) with SMART Backend Services authorisation, under /fhir/.

Registries pull the export runs of their destination: `Group/{destination}/$export` kick-off,
status polling, manifest, file download, cancel (DESIGN.md section 5).
"""
