"""The training dialog (Ctrl+T) and the Trainer's model tools: Qt widgets only."""
