from django.contrib import admin

from .models import Membership, Portal


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Portal)
class PortalAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "portal", "role", "created_at"]
    list_filter = ["role", "portal"]
    search_fields = ["user__email", "portal__name", "portal__slug"]
    autocomplete_fields = ["user", "portal"]
