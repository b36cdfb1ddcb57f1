"""`python -m hbs_grades`: run the grades service."""

from hbs_grades.app import create_app
from hbs_grades.settings import GradesSettings
from hbs_shared.service import serve
from hbs_shared.settings import load_settings


def main() -> None:
    settings = load_settings(GradesSettings)
    serve(create_app(settings), settings, "grades")


if __name__ == "__main__":
    main()
