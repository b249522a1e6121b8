"""QA: automatic consistency checks, review filters, sampling of frames to review, and agreement
between two annotation sets. Core only (no Qt, no formats): the HTML report is
``formats.qa_report``; the CLI is ``fusionlabel qa`` / ``fusionlabel agree``."""

from fusionlabel.qa.agreement import AgreementResult, ClassStats, Match, compare, match_frame
from fusionlabel.qa.checks import (
    Finding,
    LabelRecord,
    PointLoader,
    QAResult,
    check_duplicate_ids,
    dedupe_document_dict,
    records_from_document_dict,
    run_checks,
)
from fusionlabel.qa.config import SEVERITIES, QAConfig, QAConfigError
from fusionlabel.qa.review import (
    ReviewItem,
    filter_reviews,
    has_comments,
    open_issues,
    rejected,
    review_items,
    review_summary,
    unreviewed,
)
from fusionlabel.qa.sampling import SampledFrame, SamplingWeights, frame_risks, sample_frames

__all__ = [
    "SEVERITIES",
    "AgreementResult",
    "ClassStats",
    "Finding",
    "LabelRecord",
    "Match",
    "PointLoader",
    "QAConfig",
    "QAConfigError",
    "QAResult",
    "ReviewItem",
    "SampledFrame",
    "SamplingWeights",
    "check_duplicate_ids",
    "compare",
    "dedupe_document_dict",
    "filter_reviews",
    "frame_risks",
    "has_comments",
    "match_frame",
    "open_issues",
    "records_from_document_dict",
    "rejected",
    "review_items",
    "review_summary",
    "run_checks",
    "sample_frames",
    "unreviewed",
]
