"""What the tests share: sample payloads and dates (`samples`), payloads built from the spec
(`payloads`), device fakes and waits (`devices`), generated and degraded codes (`synthetic`),
a throwaway PostgreSQL (`pgserver`), the self-test tests' settings and scanners (`selftest`),
the import graph of the source tree (`import_graph`), test PDFs (`pdfs`), files for the
file-decoding tests (`files`), a saturated machine (`cpu`).
Import them as `from tests.helpers.samples import VALID`."""
