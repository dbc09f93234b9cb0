package school.hallway.core

import org.junit.Assert.assertEquals
import org.junit.Test
import school.hallway.sdk.ConnectionState
import school.hallway.sdk.HallwayException
import school.hallway.sdk.SignOutReason

/** How the SDK's errors and connection states become what the screens say. */
class ProblemTest {
    @Test
    fun eachSdkErrorBecomesTheProblemTheUserIsTold() {
        assertEquals(Problem.WrongCredentials, Problem.from(HallwayException.Unauthorized()))
        assertEquals(Problem.WrongCredentials, Problem.from(HallwayException.WrongPassword()))
        assertEquals(Problem.InvalidActivationCode, Problem.from(HallwayException.InvalidActivationCode()))
        assertEquals(Problem.NotAnInvitation, Problem.from(HallwayException.InvalidInvitation("not a link")))
        assertEquals(
            Problem.Refused("weak_password", "a password needs at least 8 characters"),
            Problem.from(HallwayException.WeakPassword("a password needs at least 8 characters")),
        )
        assertEquals(Problem.Offline, Problem.from(HallwayException.Network()))
        assertEquals(Problem.NotAllowed("policy_forbids"), Problem.from(HallwayException.Forbidden("policy_forbids")))
        assertEquals(Problem.AccountDeactivated, Problem.from(HallwayException.Forbidden("account_deactivated")))
        assertEquals(Problem.NotFound, Problem.from(HallwayException.NotFound()))
        assertEquals(
            Problem.Refused("body_too_long", "body: at most 4000 characters"),
            Problem.from(HallwayException.InvalidInput("body_too_long", "body: at most 4000 characters")),
        )
        assertEquals("rounded up to whole seconds", Problem.TooManyAttempts(2), Problem.from(HallwayException.RateLimited(1500uL)))
        assertEquals(Problem.Unexpected, Problem.from(HallwayException.Storage()))
        assertEquals(Problem.Unexpected, Problem.from(IllegalStateException("a closed client")))
    }

    @Test
    fun theBannerShowsOnlyWhileNotOnline() {
        assertEquals(ConnectionBanner.None, ConnectionBanner.of(ConnectionState.Online))
        assertEquals(ConnectionBanner.Connecting, ConnectionBanner.of(ConnectionState.Connecting))
        assertEquals(ConnectionBanner.Updating, ConnectionBanner.of(ConnectionState.Syncing))
        assertEquals(ConnectionBanner.Offline, ConnectionBanner.of(ConnectionState.WaitingToRetry(2000uL)))
        assertEquals("paused in the background: nothing to say", ConnectionBanner.None, ConnectionBanner.of(ConnectionState.Paused))
        assertEquals(ConnectionBanner.Offline, ConnectionBanner.of(ConnectionState.Offline))
        assertEquals(ConnectionBanner.SignedOut, ConnectionBanner.of(ConnectionState.SignedOut(SignOutReason.PASSWORD_CHANGED)))
    }
}
