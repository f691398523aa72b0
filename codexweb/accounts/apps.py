from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "codexweb.accounts"
    label = "accounts"
    verbose_name = "Accounts and teams"
