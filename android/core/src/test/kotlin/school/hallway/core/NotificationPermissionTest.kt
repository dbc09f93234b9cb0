package school.hallway.core

import org.junit.Assert.assertEquals
import org.junit.Test

class NotificationPermissionTest {
    @Test
    fun askedOnceOnAndroid13AfterTheFirstConversationOpensNeverAtLaunch() {
        assertEquals(false, NotificationPermission.shouldAsk(33, granted = false, askedBefore = false, openedConversation = false))
        assertEquals(true, NotificationPermission.shouldAsk(33, granted = false, askedBefore = false, openedConversation = true))
        assertEquals(false, NotificationPermission.shouldAsk(33, granted = false, askedBefore = true, openedConversation = true))
        assertEquals(false, NotificationPermission.shouldAsk(34, granted = true, askedBefore = false, openedConversation = true))
        assertEquals(false, NotificationPermission.shouldAsk(32, granted = false, askedBefore = false, openedConversation = true))
    }
}
