from allauth.account.adapter import DefaultAccountAdapter


class InviteOnlyAccountAdapter(DefaultAccountAdapter):
    """No public sign-up: people get accounts from a portal admin or `createportal`."""

    def is_open_for_signup(self, request):
        return False
