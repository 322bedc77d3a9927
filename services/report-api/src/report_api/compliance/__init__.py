"""The Office's compliance view of a document: summary (JSON), the XLSX workbook and the Decree 30 PDF report."""
