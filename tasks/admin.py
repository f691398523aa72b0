from django.contrib import admin

from tasks.models import Attempt, Event, Task


class AttemptInline(admin.TabularInline):
    model = Attempt
    fields = ("index", "status", "input_tokens", "output_tokens", "started_at", "finished_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["__str__", "team", "repository", "author", "mode", "status", "created_at"]
    list_filter = ["mode", "status", "team"]
    search_fields = ["prompt"]
    inlines = [AttemptInline]


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ["__str__", "status", "input_tokens", "output_tokens", "finished_at"]
    list_filter = ["status"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["attempt", "seq", "kind", "created_at"]
    list_filter = ["kind"]
