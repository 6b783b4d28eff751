FLASK_APP=tapbank
