"""The province's view across its schools (Sở GD&ĐT): each school's progress as counts only."""
