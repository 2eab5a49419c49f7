"""The numbers the L-MAC paper published (ICML 2024), to put beside ours.

Transcribed from the paper's Table 1 (in-domain: ESC-50 with WHAM! noise) and Table 2
(out-of-domain: mixtures of two ESC-50 clips), STFT-Mel and Mel blocks, row by row, as printed
(including the values that look like misprints, flagged in :data:`NOTES`). Rows are keyed by the
method keys of the evaluation YAML (``hparams/eval_cnn14.yaml``), so each published row lands
beside the row of ours that runs the same method; :data:`PAPER_ROWS` keeps each table's own row
order and labels. ``None`` is a cell the paper leaves empty.
"""

COLUMNS = ("AI", "AD", "AG", "FF", "FidIn", "SPS", "COMP")
"""The columns of Tables 1-2, in order (Fid-In is ``FidIn`` here)."""

TABLES = {"id": "Table 1", "ood_mix": "Table 2", "white_noise": "Table 4", "speech": "Table 4"}
"""Which table of the paper an evaluation condition corresponds to."""

TABLE_TITLES = {
    "Table 1": "Table 1: in-domain (ESC-50 + WHAM! noise)",
    "Table 2": "Table 2: out-of-domain (mixtures of two ESC-50 clips)",
    "Table 4": "Table 4: out-of-domain (white noise, LJSpeech), STFT-Mel only",
}

# Published row order and labels: (method key, row label in the paper).
_T1_STFT = [
    ("saliency", "Saliency"), ("smoothgrad", "Smoothgrad"), ("ig", "IG"), ("gradcam", "GradCAM"),
    ("guided_gradcam", "Guided GradCAM"), ("guided_backprop", "Guided Backprop"),
    ("l2i_rt02", "L2I, RT=0.2"), ("l2i_rt04", "L2I, RT=0.4"), ("l2i_rt06", "L2I, RT=0.60"),
    ("l2i_rt08", "L2I, RT=0.80"), ("shap", "SHAP"), ("lmac", "L-MAC (ours)"),
    ("lmac_ft_lg4", "L-MAC, FT, λg = 4 (ours)"), ("lmac_ft_lg16", "L-MAC, FT, λg = 16 (ours)"),
    ("lmac_ft_lg32", "L-MAC, FT, λg = 32 (ours)"),
]
_T1_MEL = [
    ("saliency", "Saliency"), ("smoothgrad", "Smoothgrad"), ("ig", "IG"), ("gradcam", "GradCAM"),
    ("guided_gradcam", "Guided GradCAM"), ("guided_backprop", "Guided Backprop"), ("shap", "SHAP"),
    ("lmac", "L-MAC (ours)"), ("lmac_ft_lg4", "L-MAC (ours) FT, λg=4"),
]
_T2_STFT = [
    ("saliency", "Saliency"), ("smoothgrad", "Smoothgrad"), ("ig", "IG"), ("l2i_rt02", "L2I"),
    ("gradcam", "GradCAM"), ("guided_gradcam", "Guided GradCAM"), ("guided_backprop", "Guided Backprop"),
    ("shap", "SHAP"), ("lmac", "L-MAC (ours)"), ("lmac_ft_lg4", "L-MAC FT, λg = 4 (ours)"),
    ("lmac_ft_lg16", "L-MAC FT, λg = 16 (ours)"), ("lmac_ft_lg32", "L-MAC - FT, λg = 32 (ours)"),
    ("lmac_ft_lg4_cct07", "L-MAC - FT, λg = 4 (ours), CCT 0.7"),
    ("lmac_ft_lg16_cct07", "L-MAC - FT, λg = 16 (ours), CCT 0.7"),
    ("lmac_ft_lg32_cct07", "L-MAC - FT, λg = 32 (ours), CCT 0.7"),
]
_T2_MEL = [
    ("saliency", "Saliency"), ("smoothgrad", "Smoothgrad"), ("ig", "IG"), ("gradcam", "GradCAM"),
    ("guided_gradcam", "Guided GradCAM"), ("guided_backprop", "Guided Backprop"), ("shap", "SHAP"),
    ("lmac", "L-MAC (ours)"), ("lmac_ft_lg4", "L-MAC - FT, λg = 4 (ours)"),
    ("lmac_ft_lg16", "L-MAC - FT, λg = 16 (ours)"), ("lmac_ft_lg32", "L-MAC - FT, λg = 32 (ours)"),
]

PAPER_ROWS = {
    ("Table 1", "stft"): _T1_STFT, ("Table 1", "mel"): _T1_MEL,
    ("Table 2", "stft"): _T2_STFT, ("Table 2", "mel"): _T2_MEL,
}
"""``(table, domain) -> [(method key, published row label), ...]`` in the paper's order."""

# Values as printed, in COLUMNS order.
_VALUES = {
    ("Table 1", "stft"): {
        "saliency": (0.00, 15.79, 0.00, 0.05, 0.07, 0.39, 5.48),
        "smoothgrad": (0.00, 15.71, 0.00, 0.03, 0.05, 0.42, 5.32),
        "ig": (0.25, 15.45, 0.01, 0.07, 0.13, 0.43, 5.11),
        "gradcam": (8.50, 10.11, 1.47, 0.17, 0.33, 0.34, 5.64),
        "guided_gradcam": (0.00, 15.61, 0.00, 0.05, 0.06, 0.44, 5.12),
        "guided_backprop": (0.00, 15.66, 0.00, 0.05, 0.06, 0.39, 5.47),
        "l2i_rt02": (1.63, 12.78, 0.42, 0.11, 0.15, 0.25, 5.50),
        "l2i_rt04": (1.13, 11.72, 0.15, 0.08, 0.11, 0.23, 4.41),
        "l2i_rt06": (0.50, 7.90, 0.05, 0.04, 0.06, 0.14, 2.61),
        "l2i_rt08": (0.13, 3.21, 0.01, 0.01, 0.02, 0.06, 0.98),
        "shap": (0.00, 15.79, 0.00, 0.05, 0.06, 0.43, 5.24),
        "lmac": (36.25, 1.15, 23.50, 0.20, 0.42, 0.47, 4.71),
        "lmac_ft_lg4": (32.37, 1.98, 18.74, 0.21, 0.41, 0.43, 5.20),
        "lmac_ft_lg16": (27.12, 3.32, 16.18, 0.19, 0.39, 0.44, 5.03),
        "lmac_ft_lg32": (23.00, 4.42, 12.63, 0.18, 0.37, 0.45, 4.92),
    },
    ("Table 1", "mel"): {
        "saliency": (0.00, 15.81, 0.00, 0.10, 0.07, 0.39, 4.53),
        "smoothgrad": (0.00, 15.61, 0.00, 0.07, 0.04, 0.39, 4.54),
        "ig": (0.00, 15.55, 0.00, 0.12, 0.08, 0.42, 4.36),
        "gradcam": (7.00, 10.93, 1.04, 0.17, 0.29, 0.34, 4.72),
        "guided_gradcam": (0.125, 15.40, 6.67, 0.08, 0.07, 0.45, 4.17),
        "guided_backprop": (0.125, 15.54, 0.00, 0.10, 0.08, 0.39, 4.53),
        "shap": (0.00, 15.57, 0.00, 0.11, 0.08, 0.41, 4.42),
        "lmac": (35.63, 1.59, 24.28, 0.22, 0.42, 0.45, 4.11),
        "lmac_ft_lg4": (36.13, 1.28, 21.15, 0.23, 0.42, 0.32, 4.71),
    },
    ("Table 2", "stft"): {
        "saliency": (None, 31.73, 0.07, 0.06, 0.12, 0.76, 11.06),
        "smoothgrad": (0.12, 31.84, 0.00, 0.06, 0.13, 0.83, 10.66),
        "ig": (0.37, 31.15, 0.03, 0.12, 0.26, 0.87, 10.22),
        "l2i_rt02": (5.00, 25.65, 1.00, 0.20, 0.35, 0.52, 10.99),
        "gradcam": (14.12, 17.62, 7.46, 0.25, 0.00, 0.91, 9.66),
        "guided_gradcam": (0.00, 31.74, 0.00, 0.07, 0.11, 0.89, 10.24),
        "guided_backprop": (0.63, 31.73, 0.07, 0.06, 0.11, 0.76, 11.06),
        "shap": (0.00, 31.81, 0.00, 0.07, 0.14, 0.84, 10.58),
        "lmac": (60.63, 4.82, 35.85, 0.39, 0.81, 0.94, 9.61),
        "lmac_ft_lg4": (50.75, 6.73, 26.00, 0.39, 0.78, 0.84, 10.51),
        "lmac_ft_lg16": (37.62, 10.67, 19.29, 0.34, 0.70, 0.87, 10.19),
        "lmac_ft_lg32": (28.88, 12.69, 14.56, 0.32, 0.66, 0.89, 10.01),
        "lmac_ft_lg4_cct07": (52.87, 6.71, 29.46, 0.38, 0.78, 0.93, 9.76),
        "lmac_ft_lg16_cct07": (45.87, 8.12, 23.91, 0.37, 0.74, 0.91, 9.93),
        "lmac_ft_lg32_cct07": (38.50, 9.62, 19.11, 0.35, 0.70, 0.89, 10.04),
    },
    ("Table 2", "mel"): {
        "saliency": (0.38, 31.64, 0.01, 0.15, 0.12, 0.77, 9.17),
        "smoothgrad": (0.25, 31.66, 0.01, 0.14, 0.11, 0.79, 9.03),
        "ig": (0.12, 31.52, 0.01, 0.19, 0.19, 0.84, 8.62),
        "gradcam": (19.88, 18.85, 4.67, 0.34, 0.69, 0.66, 9.49),
        "guided_gradcam": (0.00, 31.68, 0.00, 0.14, 0.12, 0.89, 10.24),
        "guided_backprop": (0.38, 31.64, 0.01, 0.15, 0.12, 0.77, 9.16),
        "shap": (0.25, 31.60, 0.00, 0.17, 0.15, 0.82, 8.81),
        "lmac": (60.25, 4.84, 34.72, 0.44, 0.80, 0.90, 8.29),
        "lmac_ft_lg4": (60.75, 4.84, 29.34, 0.44, 0.83, 0.64, 9.38),
        "lmac_ft_lg16": (45.75, 9.93, 17.04, 0.43, 0.80, 0.69, 9.16),
        "lmac_ft_lg32": (37.50, 8.65, 14.08, 0.43, 0.77, 0.70, 9.05),
    },
}

PUBLISHED = {
    table_domain: {method: dict(zip(COLUMNS, values)) for method, values in rows.items()}
    for table_domain, rows in _VALUES.items()
}
"""``(table, domain) -> method key -> {column: value}`` as printed in the paper."""

ACCURACY = {
    "Table 1": "75% on fold 5, 78% on fold 4 (Sec. 3.2; the condition is not stated)",
    "Table 2": "not reported",
    "Table 4": "38.6% with white noise, 79.3% with LJSpeech (Table 4 headers)",
}
"""The classifier accuracy the paper reports for each table's data."""

NOTES = [
    ("Published values are transcribed from the paper's Tables 1-2 as printed (Table 1: in-domain, "
     "Table 2: out-of-domain; blocks STFT-Mel and Mel); the row labels are the paper's."),
    ("The paper's AD column was computed by the authors' code, i.e. as our AD_ref (probabilities "
     "through softmax twice), not as our AD: compare it with AD_ref."),
    ("Table 2 prints a single L2I row without its relevance threshold; it is shown beside RT=0.2, "
     "the threshold of the 'L2I @ 0.2' rows of Tables 4-5."),
    ("As printed, probably misprints: Table 2 STFT-Mel Saliency has no AI; Table 2 STFT-Mel GradCAM "
     "has Fid-In 0.00 with AI 14.12; Table 1 Mel Guided GradCAM has AG 6.67 with AI 0.125."),
    ("Table 1 has no CCT 0.7 rows and no L2I rows in the Mel block; Table 2's Mel block has no L2I "
     "and no CCT rows."),
    ("The published L2I Fid-In cannot be compared with ours: the authors' train_l2i.py passes a [B, 1] "
     "tensor of class ids to compute_fidelity, which takes its argmax over dim 1 (always 0), so it "
     "counts masked-in predictions of class 0."),
    ("Assumptions, as no public code shows them: the reference protocol's SmoothGrad samples (50), SHAP "
     "baselines ({0, X}), GradCAM layer (conv_block6) and CAM upsampling (stretch, nearest)."),
]
