"""The API's routes, one router per concern: predict, models, health, the API docs and the drawing page."""
