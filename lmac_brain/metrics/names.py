"""Metric names, in one place: the column order of every results table and log."""

METRIC_NAMES = ("AI", "AD", "AG", "FF", "FidIn", "SPS", "COMP", "MM", "loc_auc", "loc_iou", "SI-SDR", "SDRi")
"""Every metric name, in the column order of the results tables."""

FAITHFULNESS_NAMES = ("AI", "AD", "AG", "FF", "FidIn")
QUANTUS_NAMES = ("SPS", "COMP")
LOCALIZATION_NAMES = ("loc_auc", "loc_iou")
LISTENABILITY_NAMES = ("SI-SDR", "SDRi")
