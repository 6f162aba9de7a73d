"""The Analyzer's "Replace training labels?" question, with the frozen-merge answers.

Promote copies predictions to training labels; where an image already has labels the user
chooses: replace them, keep them and add only the predicted objects that overlap none, keep
them and fill only unlabelled pixels, or keep them untouched (the image is skipped). The
answers map to the merge modes of :mod:`guv_app.services.annotation.merge` and
:func:`guv_app.services.analysis.promote.promote`'s ``mode``.
"""

from __future__ import annotations

from PyQt6 import QtWidgets

# button text -> promote mode (None: keep the labels, skip those images). "Yes"/"No" first
# words: the question used to be a Yes/No box and users' habits (and Alt+Y/N) stay valid.
ANSWERS: dict[str, str | None] = {
    "Yes, replace": "replace",
    "Add new objects only": "add",
    "Fill unlabelled pixels": "fill",
    "No, keep them": None,
}


def merge_explanation() -> str:
    """What the two merge answers do, in the user's words."""
    from guv_app.services.annotation.merge import MIN_FRACTION, MIN_SIZE

    return ("\n\nAdd new objects only: the labels stay as they are; predicted objects that "
            "overlap none of them are added.\nFill unlabelled pixels: the labels stay as they "
            "are; predicted objects are cut to the unlabelled pixels (of a cut object only "
            f"its largest piece is kept, if it has at least {MIN_SIZE} px and "
            f"{MIN_FRACTION:.0%} of the object). The label files of before are kept as .bak "
            "either way.")


def ask_promote_mode(parent: QtWidgets.QWidget | None, title: str, text: str) -> str | None:
    """Ask (modal) how promote treats existing labels: "replace", "add", "fill" or None."""
    box = QtWidgets.QMessageBox(parent)
    box.setIcon(QtWidgets.QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text + merge_explanation())
    buttons = {}
    for label, mode in ANSWERS.items():
        role = (QtWidgets.QMessageBox.ButtonRole.RejectRole if mode is None
                else QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        buttons[box.addButton(label, role)] = mode
    keep = next(b for b, m in buttons.items() if m is None)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    box.exec()
    return buttons.get(box.clickedButton())
