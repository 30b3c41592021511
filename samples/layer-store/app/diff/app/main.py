print("hello from the app layer")
