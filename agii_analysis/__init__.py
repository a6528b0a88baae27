"""agii_analysis: the shared package behind the AgII customer-satisfaction reports.

Data flows one way: raw SurveyMonkey export (reader) -> tidy harmonised responses
(harmonise) -> metric tables (results) -> charts / tables -> HTML, PDF, Excel.
"""

__version__ = "0.1.0"
