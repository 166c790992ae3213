"""The web shell: sign-in, the home page per role, navigation, language switch and the shared templates."""
