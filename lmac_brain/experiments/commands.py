"""Where each recipe lives and the command that trains each kind of model (for error messages)."""

KINDS = ("classifier", "lmac", "lmac_ft", "l2i")
"""What an experiment folder holds: a classifier, an L-MAC decoder (first stage or fine-tuned),
or an L2I model."""

RECIPE_DIRS = {"esc50": "ESC50", "us8k": "US8K"}

TRAINING_COMMANDS = {
    "classifier": "python recipes/{recipe}/train_classifier.py hparams/classifier_cnn14.yaml --data_folder=...",
    "lmac": "python recipes/{recipe}/train_lmac.py hparams/lmac_cnn14.yaml --data_folder=...",
    "lmac_ft": "python recipes/{recipe}/train_lmac.py hparams/lmac_cnn14_ft.yaml --data_folder=...",
    "l2i": "python recipes/{recipe}/train_l2i.py hparams/l2i_cnn14.yaml --data_folder=...",
}
"""The command that trains each kind (``{recipe}`` is the dataset's recipe folder)."""

KIND_NAMES = {
    "classifier": "classifier",
    "lmac": "L-MAC (first stage)",
    "lmac_ft": "fine-tuned L-MAC",
    "l2i": "L2I model",
}


def training_hint(kind, dataset):
    """The commands that train ``kind`` for ``dataset`` (the classifier first)."""
    recipe = RECIPE_DIRS.get(dataset, "<DATASET>")
    kinds = ["classifier"] if kind == "classifier" else ["classifier", kind]
    if kind == "lmac_ft":
        kinds = ["classifier", "lmac", "lmac_ft"]
    return "\n".join("    " + TRAINING_COMMANDS[k].format(recipe=recipe) for k in kinds)
