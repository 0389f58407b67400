from kepu import create_app

app = create_app()
