"""What a browser sees: the console (the React app in `console/`, served by `console.py`) and the
offline API docs (`docs.py`)."""
