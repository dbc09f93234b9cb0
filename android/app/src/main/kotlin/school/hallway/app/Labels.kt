@file:OptIn(androidx.compose.ui.ExperimentalComposeUiApi::class)

package school.hallway.app

import android.text.format.DateFormat
import androidx.compose.runtime.Composable
import androidx.compose.ui.platform.LocalConfiguration
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.pluralStringResource
import androidx.compose.ui.res.stringResource
import java.time.LocalTime
import java.time.format.DateTimeFormatter
import java.time.format.FormatStyle
import java.time.format.TextStyle
import java.util.Locale
import school.hallway.core.BubbleStatus
import school.hallway.core.ConnectionBanner
import school.hallway.core.DayLabel
import school.hallway.core.GroupProblem
import school.hallway.core.InvitationProblem
import school.hallway.core.Limits
import school.hallway.core.LoginProblem
import school.hallway.core.MessageProblem
import school.hallway.core.Preview
import school.hallway.core.PreviewSender
import school.hallway.core.Problem
import school.hallway.core.RelativeTime
import school.hallway.core.TypingLine
import school.hallway.sdk.ReportReason
import school.hallway.sdk.UserRole

/*
 * How :core's values are said, from string resources in the user's language. :core decides *what* to say
 * ("2 minutes ago", "failed with this reason"); these functions only pick the words and the locale's formats.
 */

@Composable
private fun locale(): Locale = LocalConfiguration.current.locales[0] ?: Locale.getDefault()

@Composable
fun relativeTimeText(time: RelativeTime): String = when (time) {
    RelativeTime.Now -> stringResource(R.string.time_now)
    is RelativeTime.Minutes -> stringResource(R.string.time_minutes, time.minutes)
    is RelativeTime.Hours -> stringResource(R.string.time_hours, time.hours)
    RelativeTime.Yesterday -> stringResource(R.string.time_yesterday)
    is RelativeTime.Weekday -> time.day.getDisplayName(TextStyle.SHORT, locale())
    is RelativeTime.Date -> if (time.showYear) {
        DateTimeFormatter.ofLocalizedDate(FormatStyle.SHORT).withLocale(locale()).format(time.date)
    } else {
        DateTimeFormatter.ofPattern(DateFormat.getBestDateTimePattern(locale(), "MMMd"), locale()).format(time.date)
    }
}

@Composable
fun dayLabelText(label: DayLabel): String = when (label) {
    DayLabel.Today -> stringResource(R.string.day_today)
    DayLabel.Yesterday -> stringResource(R.string.time_yesterday)
    is DayLabel.Weekday -> label.day.getDisplayName(TextStyle.FULL, locale())
    is DayLabel.Date -> DateTimeFormatter.ofPattern(
        DateFormat.getBestDateTimePattern(locale(), if (label.showYear) "yMMMMd" else "MMMMd"), locale(),
    ).format(label.date)
}

/** A bubble's time in the user's 12- or 24-hour style. */
@Composable
fun timeOfDayText(time: LocalTime): String {
    val pattern = if (DateFormat.is24HourFormat(LocalContext.current)) "Hm" else "hm"
    return DateTimeFormatter.ofPattern(DateFormat.getBestDateTimePattern(locale(), pattern), locale()).format(time)
}

@Composable
fun typingText(line: TypingLine): String = when {
    !line.inGroup -> stringResource(R.string.typing_direct)
    line.names.isEmpty() -> stringResource(R.string.typing_someone)
    line.names.size == 1 -> stringResource(R.string.typing_one, line.names[0])
    line.names.size == 2 -> stringResource(R.string.typing_two, line.names[0], line.names[1])
    else -> pluralStringResource(R.plurals.typing_many, line.names.size, line.names.size)
}

@Composable
fun previewText(preview: Preview): String {
    @Composable
    fun prefixed(sender: PreviewSender?, text: String) = when (sender) {
        null -> text
        PreviewSender.You -> stringResource(R.string.preview_you, text)
        is PreviewSender.Named -> stringResource(R.string.preview_named, sender.name, text)
    }
    return when (preview) {
        Preview.Empty -> stringResource(R.string.preview_empty)
        is Preview.Message -> prefixed(preview.sender, preview.text)
        is Preview.Attachment -> prefixed(preview.sender, stringResource(R.string.preview_attachment))
        is Preview.Deleted -> prefixed(preview.sender, stringResource(R.string.message_deleted))
    }
}

@Composable
fun roleText(role: UserRole?): String = when (role) {
    UserRole.ADMIN -> stringResource(R.string.role_admin)
    UserRole.TEACHER -> stringResource(R.string.role_teacher)
    UserRole.PARENT -> stringResource(R.string.role_parent)
    UserRole.STUDENT -> stringResource(R.string.role_student)
    null -> stringResource(R.string.role_former_member)
}

@Composable
fun problemText(problem: Problem): String = when (problem) {
    Problem.WrongCredentials -> stringResource(R.string.problem_wrong_credentials)
    Problem.InvalidActivationCode -> stringResource(R.string.problem_invalid_activation_code)
    Problem.NotAnInvitation -> stringResource(R.string.problem_not_an_invitation)
    Problem.Offline -> stringResource(R.string.problem_offline)
    is Problem.ServerUnreachable -> stringResource(R.string.problem_server_unreachable, problem.address)
    Problem.AccountDeactivated -> stringResource(R.string.problem_account_deactivated)
    is Problem.NotAllowed -> stringResource(R.string.problem_not_allowed)
    Problem.NotFound -> stringResource(R.string.problem_not_found)
    // The server's sentence names the field or the limit; it is English, like the server.
    is Problem.Refused -> stringResource(R.string.problem_refused, problem.reason)
    is Problem.TooManyAttempts -> pluralStringResource(
        R.plurals.problem_too_many_attempts, problem.retryAfterSeconds.toInt(), problem.retryAfterSeconds.toInt(),
    )
    Problem.Unexpected -> stringResource(R.string.problem_unexpected)
}

@Composable
fun invitationProblemText(problem: InvitationProblem): String = when (problem) {
    InvitationProblem.ServerAddressInvalid -> stringResource(R.string.login_server_invalid)
    InvitationProblem.ServerAddressNotSecure -> stringResource(R.string.login_server_not_secure)
    InvitationProblem.CodeMissing -> stringResource(R.string.invitation_code_missing)
    InvitationProblem.CodeInvalid -> stringResource(R.string.invitation_code_invalid)
    InvitationProblem.PasswordTooShort -> stringResource(R.string.invitation_password_too_short, Limits.MIN_PASSWORD_CHARS)
    InvitationProblem.PasswordTooLong -> stringResource(R.string.invitation_password_too_long, Limits.MAX_PASSWORD_CHARS)
    InvitationProblem.PasswordsDiffer -> stringResource(R.string.invitation_passwords_differ)
}

@Composable
fun loginProblemText(problem: LoginProblem): String = when (problem) {
    LoginProblem.ServerAddressInvalid -> stringResource(R.string.login_server_invalid)
    LoginProblem.ServerAddressNotSecure -> stringResource(R.string.login_server_not_secure)
    LoginProblem.LoginMissing -> stringResource(R.string.login_username_missing)
    LoginProblem.PasswordMissing -> stringResource(R.string.login_password_missing)
}

@Composable
fun groupProblemText(problem: GroupProblem): String = when (problem) {
    GroupProblem.NameMissing -> stringResource(R.string.group_name_missing)
    GroupProblem.NameTooLong -> stringResource(R.string.group_name_too_long)
    GroupProblem.NoMembers -> stringResource(R.string.group_no_members)
    GroupProblem.TooManyMembers -> stringResource(R.string.group_too_many_members)
}

@Composable
fun messageProblemText(problem: MessageProblem): String = when (problem) {
    MessageProblem.Empty -> stringResource(R.string.message_empty)
    is MessageProblem.TooLong -> stringResource(R.string.message_too_long, problem.max, problem.length)
}

/** The line under the user's own bubble; `null` for nothing (received messages). */
@Composable
fun statusText(status: BubbleStatus, inGroup: Boolean): String? = when (status) {
    BubbleStatus.Received -> null
    BubbleStatus.Sending -> stringResource(R.string.status_sending)
    BubbleStatus.Sent -> stringResource(R.string.status_sent)
    is BubbleStatus.Read -> if (inGroup) {
        pluralStringResource(R.plurals.status_read_by, status.readers, status.readers)
    } else {
        stringResource(R.string.status_seen)
    }
    is BubbleStatus.Failed -> stringResource(R.string.status_failed, status.reason)
}

/** The banner over the lists; `null` while online. */
@Composable
fun connectionText(banner: ConnectionBanner): String? = when (banner) {
    ConnectionBanner.None -> null
    ConnectionBanner.Connecting -> stringResource(R.string.connection_connecting)
    ConnectionBanner.Updating -> stringResource(R.string.connection_updating)
    ConnectionBanner.Offline -> stringResource(R.string.connection_offline)
    ConnectionBanner.SignedOut -> stringResource(R.string.connection_signed_out)
}

@Composable
fun reportReasonText(reason: ReportReason): String = when (reason) {
    ReportReason.BULLYING -> stringResource(R.string.report_bullying)
    ReportReason.INAPPROPRIATE -> stringResource(R.string.report_inappropriate)
    ReportReason.SPAM -> stringResource(R.string.report_spam)
    ReportReason.SAFETY_CONCERN -> stringResource(R.string.report_safety)
    ReportReason.OTHER -> stringResource(R.string.report_other)
}
