"""Closed vocabularies of the result record (RULES.md, FORMATS.md).

One copy of each constant: the data-file validators, the rules engine, the
order parser and the evaluation all import them from here.
"""

CONCEPTS = (
    "FEVER", "IV_DRUG_USE", "BACTEREMIA", "ELEVATED_INFLAMMATORY_MARKERS",
    "SUSPECTED_SPINE_INFECTION", "IMMUNOSUPPRESSION", "CANCER_HISTORY",
    "SUSPECTED_MALIGNANCY", "WEIGHT_LOSS", "NEURO_DEFICIT", "PROGRESSIVE_DEFICIT",
    "MYELOPATHY", "CAUDA_EQUINA", "RADICULOPATHY", "TRAUMA", "PRIOR_SPINE_SURGERY",
    "FAILED_CONSERVATIVE_THERAPY", "INFLAMMATORY_SPONDYLOARTHROPATHY",
    "VERTEBRAL_TENDERNESS", "RENAL_IMPAIRMENT", "MRI_CONTRAINDICATION",
    "TUBERCULOSIS", "MULTILEVEL_DISEASE", "PRIOR_SPINE_CT", "RED_FLAGS",
    # RULES.md revision 2: the fracture-risk pathway (ACR Low Back Pain variant 6)
    "LOW_ENERGY_TRAUMA", "OSTEOPOROSIS", "CHRONIC_STEROID_USE", "KNOWN_COMPRESSION_FRACTURE",
)

# Assertion statuses, in the precedence of RULES.md section 5 (first wins).
STATUSES = ("present", "negated", "family", "hypothetical")

REGIONS = ("CERVICAL", "THORACIC", "LUMBAR")
COMPLETE = "COMPLETE"

MODALITIES = ("MRI", "CT", "CT_MYELOGRAPHY", "XR", "BONE_SCAN", "PET")
RECOMMENDED_MODALITIES = ("MRI", "CT", "XR", "NONE")
CONTRASTS = ("WITHOUT", "WITH", "WITH_AND_WITHOUT")

CATEGORIES = (
    "CAUDA_EQUINA", "INFECTION", "MALIGNANCY", "TRAUMA", "NEURO_DEFICIT",
    "POST_SURGICAL", "INFLAMMATORY", "FRACTURE_RISK", "RED_FLAG_TENDERNESS", "PERSISTENT",
    "UNCOMPLICATED", "INSUFFICIENT_INFORMATION",
)
NO_IMAGING_CATEGORIES = ("UNCOMPLICATED", "INSUFFICIENT_INFORMATION")

URGENCIES = ("EMERGENT", "URGENT", "ROUTINE", "NONE")
FLAGS = ("GADOLINIUM_AVOID", "MRI_UNSAFE", "LABS_ESR_CRP_CULTURES")

MISMATCH_TYPES = (
    "NOT_INDICATED", "INSUFFICIENT_DOCUMENTATION", "WRONG_MODALITY",
    "CONTRAST_ONLY", "MISSING_CONTRAST", "UNNECESSARY_CONTRAST",
    "GADOLINIUM_SAFETY", "MRI_SAFETY", "INCOMPLETE_COVERAGE", "WRONG_REGION",
)
# Types a QA reviewer should see first (patient safety), then the rest.
SAFETY_MISMATCH_TYPES = ("GADOLINIUM_SAFETY", "MRI_SAFETY", "CONTRAST_ONLY")

# QA review decisions (FORMATS.md "Review service"): confirm a flag, or
# dismiss it with one of these reasons.
DECISIONS = ("confirm", "dismiss")
DISMISS_REASONS = (
    "SURGICAL_PLANNING", "ONCOLOGY_FOLLOW_UP", "SPECIALIST_FOLLOW_UP", "PATIENT_FACTOR",
    "EXTRACTION_MISS", "DOCUMENTED_ELSEWHERE", "OTHER",
)


def is_missing(value):
    """None or a pandas NaN: a cell with no value."""
    return value is None or (isinstance(value, float) and value != value)


def order_regions(regions):
    """Regions in anatomical order (cervical, thoracic, lumbar), unique."""
    seen = set(regions)
    return [r for r in REGIONS if r in seen]
