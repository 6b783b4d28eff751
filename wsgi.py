from tapbank import create_app

app = create_app()
